/** Help texts: one per command, each with examples. */
import { VERSION } from "./version.ts";

export const MAIN_HELP = `edgemq ${VERSION} — MQTT 3.1/3.1.1/5.0 broker for edge gateways

Usage:
  edgemq [start] [options]        run the broker (the default command)
  edgemq check-config FILE        validate a config file and print the effective config
  edgemq passwd FILE USER         add or update a user in a password file
  edgemq version                  print the version
  edgemq COMMAND --help           help for one command

Examples:
  edgemq                                   # broker on 127.0.0.1:1883 with defaults
  edgemq start -c /etc/edgemq/edgemq.yaml
  edgemq check-config edgemq.yaml

Exit codes: 0 success, 1 error (bad config, cannot start), 2 bad command line.
`;

export const START_HELP = `Usage: edgemq start [options]

Runs the broker until SIGTERM or SIGINT (Ctrl-C). SIGHUP reloads the config file, the password
file, the ACL and the TLS certificates: logging and authentication/authorization keys change at
once; other changes are logged as needing a restart. A file that fails to load is ignored and
the rules in force stay (it never leaves the broker open).

Options:
  -c, --config FILE        YAML config file. Only this file (or EDGEMQ_CONFIG) is read — there
                           is no implicit /etc/edgemq/edgemq.yaml; without one, defaults apply.
      --host HOST          address of the first listener (default 127.0.0.1)
      --port PORT          port of the first listener, 0-65535 (default 1883; 0 = any free)
      --data-dir DIR       directory of the durable store (default ./data)
      --log-level LEVEL    trace, debug, info, warning or error (default info)
      --log-format FORMAT  text, json or auto (default auto: json under systemd, else text)
  -h, --help               show this help

Precedence: defaults < config file < environment (EDGEMQ_<KEY>, e.g. EDGEMQ_PORT,
EDGEMQ_MAX_INFLIGHT, EDGEMQ_LOG_LEVEL) < flags. A misspelt EDGEMQ_ variable is an error.

Examples:
  edgemq start
  edgemq start -c /etc/edgemq/edgemq.yaml
  edgemq start --host 0.0.0.0 --port 1884 --log-level debug
  EDGEMQ_CONFIG=edgemq.yaml EDGEMQ_MAX_INFLIGHT=50 edgemq start
`;

export const CHECK_CONFIG_HELP = `Usage: edgemq check-config FILE

Validates FILE (plus any EDGEMQ_<KEY> environment variables, as \`start\` would apply them) and
prints the effective configuration as YAML. Every problem is listed as FILE:LINE:COL: key: what
was expected. Exit 0 when valid, 1 when not.

Options:
  -h, --help   show this help

Examples:
  edgemq check-config /etc/edgemq/edgemq.yaml
  edgemq check-config edgemq.yaml > effective.yaml
`;

export const PASSWD_HELP = `Usage: edgemq passwd [options] FILE USER

Adds USER to the password file FILE, or changes its password, creating FILE if needed. The
format is Mosquitto's ($7$: PBKDF2-SHA512, 101 iterations, 12-byte salt), so files work with
mosquitto_passwd and Mosquitto too. The password is asked twice on a terminal, or read as one
line from standard input with --password-stdin.

Options:
      --password-stdin   read the password from standard input (first line)
  -H, --hash METHOD      sha512-pbkdf2 ($7$, default), sha512 ($6$, Mosquitto 1.6),
                         scram-sha-256 / scram-sha-512 (RFC 5803 entries: also usable for
                         MQTT 5 SCRAM login; Mosquitto skips such lines). $7$ entries serve
                         SCRAM-SHA-512 too.
  -D, --delete           remove USER from FILE instead
  -h, --help             show this help

Examples:
  edgemq passwd /etc/edgemq/passwd alice
  printf '%s\\n' "$SECRET" | edgemq passwd --password-stdin /etc/edgemq/passwd sensor-17
  edgemq passwd -H scram-sha-256 /etc/edgemq/passwd alice
  edgemq passwd -D /etc/edgemq/passwd alice
`;

export const VERSION_HELP = `Usage: edgemq version

Prints the edgemq version, the Deno runtime version and the target.

Examples:
  edgemq version
  edgemq --version
`;
