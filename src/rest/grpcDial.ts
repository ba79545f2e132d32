import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import { X509Certificate } from "node:crypto";
import { credentials, type ChannelCredentials } from "@grpc/grpc-js";

export interface GrpcDial {
  target: string;
  credentials: ChannelCredentials;
  channelOptions: Record<string, string | number>;
}

/**
 * How the bridge reaches the gRPC server of the same process: the listening address (a wildcard
 * address is dialled on loopback), over TLS when the server serves TLS. Then the server's certificate
 * is verified as any client would, trusting it (self-signed) besides the system roots (CA-issued), under
 * the name it was issued for, since the dialled address is loopback.
 */
export function grpcDialOf(host: string, port: number, tls: { certFile: string } | undefined): GrpcDial {
  const dialHost = host === "0.0.0.0" ? "127.0.0.1" : host === "::" || host === "[::]" ? "::1" : host;
  const target = `${dialHost.includes(":") && !dialHost.startsWith("[") ? `[${dialHost}]` : dialHost}:${port}`;
  if (tls === undefined) return { target, credentials: credentials.createInsecure(), channelOptions: {} };
  const pem = readFileSync(tls.certFile);
  const name = certificateName(pem);
  return {
    target,
    credentials: credentials.createSsl(Buffer.concat([pem, Buffer.from(`\n${rootCertificates.join("\n")}\n`)])),
    channelOptions: name === undefined ? {} : { "grpc.ssl_target_name_override": name, "grpc.default_authority": name },
  };
}

/** The first DNS name (else IP, else CN) of the leaf certificate. */
function certificateName(pem: Buffer): string | undefined {
  const leaf = new X509Certificate(pem);
  const alt = (leaf.subjectAltName ?? "").split(",").map((s) => s.trim());
  const dns = alt.find((s) => s.startsWith("DNS:"))?.slice(4);
  if (dns !== undefined) return dns.replace(/^\*\./, "wildcard.");
  const ip = alt.find((s) => s.startsWith("IP Address:"))?.slice("IP Address:".length);
  if (ip !== undefined) return ip;
  return /CN=([^\n,]+)/.exec(leaf.subject)?.[1];
}
