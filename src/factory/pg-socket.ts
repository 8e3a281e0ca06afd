import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";

/**
 * The TCP socket postgres.js runs on in a Worker, in the shape of its own Cloudflare polyfill
 * (raw, writer, reader, read(): its tls.connect() upgrades such a socket for ssl). Ours differs
 * in one thing: postgres.js drops every listener when it closes a connection, and the
 * polyfill then emits the closing read's error with no listener, an unhandled rejection per
 * query. Here a read failing after that is only the end of the socket.
 */
export async function openPgSocket(host: string, port: number, ssl: boolean) {
  // Imported on use: Node (npm run dev's cron runner, the dev tests) loads the factory's parts too.
  const { connect } = await import("cloudflare:sockets");
  const raw = connect({ hostname: host, port }, { secureTransport: ssl ? "starttls" : "off", allowHalfOpen: false });
  const tcp = Object.assign(new EventEmitter(), {
    readyState: "opening",
    host,
    port,
    raw,
    writer: raw.writable.getWriter(),
    reader: raw.readable.getReader(),
    destroyed: false,
    write(data: Uint8Array, callback?: () => void) {
      tcp.writer.write(data).then(callback, fail);
      return true;
    },
    end(data?: Uint8Array) {
      if (data) return tcp.write(data, () => void tcp.raw.close().catch(() => {}));
      tcp.raw.close().catch(() => {});
      return true;
    },
    destroy() {
      tcp.destroyed = true;
      tcp.end();
    },
    async read() {
      try {
        for (;;) {
          const { done, value } = await tcp.reader.read();
          if (done) break;
          tcp.emit("data", Buffer.from(value));
        }
      } catch (err) {
        fail(err);
      }
    },
  });
  function fail(err: unknown) {
    if (tcp.listenerCount("error")) tcp.emit("error", err);
    close();
  }
  function close() {
    if (tcp.readyState === "closed") return;
    tcp.readyState = "closed";
    tcp.emit("close");
  }
  raw.closed.then(() => (tcp.readyState === "upgrade" ? undefined : close()), fail);
  // A socket that never opened rejects these too; its failure reaches postgres.js through `opened`.
  tcp.writer.closed.catch(() => {});
  tcp.writer.ready.catch(() => {});
  tcp.reader.closed.catch(() => {});
  await raw.opened;
  tcp.readyState = "open";
  if (ssl) {
    // postgres.js asks for TLS and reads the one-byte answer before upgrading (its tls.connect then reads on).
    tcp.reader
      .read()
      .then(({ value }) => value && tcp.emit("data", Buffer.from(value)))
      .catch(fail);
  } else {
    void tcp.read();
  }
  return tcp;
}
