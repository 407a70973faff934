/**
 * Test certificates made with `openssl` in a temporary directory: a CA, a server certificate for
 * localhost / 127.0.0.1, a client certificate ("CN=device-1,O=edge"), and — for the negative
 * and reload cases — a second CA with its own client and server certificates.
 */

export interface TestCerts {
  dir: string;
  /** Paths of PEM files. */
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Signed by `otherCa`. */
  otherCa: string;
  otherClientCert: string;
  otherClientKey: string;
  otherServerCert: string;
  otherServerKey: string;
  /** PEM text of a file. */
  read(path: string): string;
  remove(): Promise<void>;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await openssl(
    dir,
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-subj",
    `/CN=${cn}`,
  );
}

async function makeLeaf(
  dir: string,
  ca: string,
  name: string,
  subj: string,
  ext: string,
): Promise<void> {
  await openssl(
    dir,
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    subj,
  );
  await Deno.writeTextFile(`${dir}/${name}.ext`, ext);
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.crt`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  );
}

const SERVER_EXT = "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n";
const CLIENT_EXT = "extendedKeyUsage=clientAuth\n";

let cached: Promise<TestCerts> | undefined;

/** Makes the certificates once per test process (shared; read-only for tests). */
export function testCerts(): Promise<TestCerts> {
  cached ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "edgemq-certs-" });
    await makeCa(dir, "ca", "edgemq test CA");
    await makeCa(dir, "other-ca", "someone else's CA");
    await makeLeaf(dir, "ca", "server", "/CN=localhost", SERVER_EXT);
    await makeLeaf(dir, "ca", "client", "/O=edge/CN=device-1", CLIENT_EXT);
    await makeLeaf(dir, "other-ca", "other-client", "/CN=intruder", CLIENT_EXT);
    await makeLeaf(dir, "other-ca", "other-server", "/CN=localhost", SERVER_EXT);
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* gone */ }
    });
    const p = (f: string) => `${dir}/${f}`;
    return {
      dir,
      ca: p("ca.crt"),
      serverCert: p("server.crt"),
      serverKey: p("server.key"),
      clientCert: p("client.crt"),
      clientKey: p("client.key"),
      otherCa: p("other-ca.crt"),
      otherClientCert: p("other-client.crt"),
      otherClientKey: p("other-client.key"),
      otherServerCert: p("other-server.crt"),
      otherServerKey: p("other-server.key"),
      read: (path: string) => Deno.readTextFileSync(path),
      remove: () => Deno.remove(dir, { recursive: true }),
    };
  })();
  return cached;
}
