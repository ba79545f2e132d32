/** Requests about the Gateway and the login rather than the market: current time, user info. */
import * as msg from "../messages/outbound.js";
import type { Session } from "../session.js";

export function reqCurrentTime(session: Session): void {
  session.send(msg.currentTime(Math.floor(session.now() / 1000)));
}

/** The white-branding id is empty for a plain IB login. */
export function reqUserInfo(session: Session, reqId: number): void {
  session.send(msg.userInfo(reqId, ""));
}
