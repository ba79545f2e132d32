/**
 * The bus (BUS_URL) could not be used at start-up: the provider role does not start without it (never a
 * silent all-in-one). Its own module, free of NATS, so that src/main.ts can tell it apart at no cost.
 */
export class BusUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BusUnavailableError";
  }
}
