import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A certificate and its key in a temporary folder, as PROVIDER_TLS_CERT/PROVIDER_TLS_KEY expect them. */
export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** The certificate (PEM): a client's trusted CA, since it signs itself. */
  cert: Buffer;
  /** Deletes the folder. */
  remove(): void;
}

/**
 * A self-signed certificate for localhost and 127.0.0.1, valid one day, made by openssl (Node can make
 * keys but not X.509 certificates). Both names are in subjectAltName: grpc-js and Node's https check the
 * name a client dialled against it.
 */
export function selfSignedCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), "ibp-tls-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "1", "-keyout", keyFile, "-out", certFile],
    { stdio: "ignore", timeout: 20_000 },
  );
  return { certFile, keyFile, cert: readFileSync(certFile), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
