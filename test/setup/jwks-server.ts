import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A JWKS endpoint the tests control: GET /jwks.json serves the current key set, PUT /jwks.json
 * replaces it (what an identity provider does when it rotates keys).
 */
export async function startJwksServer() {
  let keys: unknown[] = [];
  const server = createServer((req, res) => {
    if (new URL(req.url ?? "/", "http://jwks").pathname !== "/jwks.json") return res.writeHead(404).end();
    if (req.method === "PUT") {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        keys = (JSON.parse(body) as { keys: unknown[] }).keys;
        res.writeHead(204).end();
      });
      return;
    }
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
