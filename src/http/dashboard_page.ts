export const DASHBOARD_HTML = "<!doctype html><title>edgemq</title>";
