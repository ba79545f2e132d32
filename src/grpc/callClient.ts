import type { Metadata } from "@grpc/grpc-js";
import { ANONYMOUS_CLIENT_NAME } from "../config/clientsFile.js";

/**
 * The client the auth interceptor resolved, keyed by the call's metadata object (grpc-js hands the handler
 * the object the interceptor passed on). Not a metadata entry: a caller could send that header itself.
 * A call the interceptor did not resolve (authentication off, health, reflection) is `anonymous`.
 */
const clients = new WeakMap<Metadata, string>();

export function rememberClient(metadata: Metadata, client: string): void {
  clients.set(metadata, client);
}

export function clientOf(metadata: Metadata): string {
  return clients.get(metadata) ?? ANONYMOUS_CLIENT_NAME;
}
