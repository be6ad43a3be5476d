// The Cosmos DB test server (@vercel/cosmosdb-server, in memory) in a process of its own, so the
// suite can stop it or cut the network to it without touching the test process. Prints
// `listening <port>` once it accepts connections.
// Usage: node cosmos-server.mjs <port> <http|https> [advertised port]
// The account document names the server's own address as its endpoint, and the SDK then talks to
// that address; with an advertised port (a proxy in front), the SDK keeps going through the proxy,
// as a real account advertises its public endpoint rather than a server's.
import { createHttpServer, createHttpsServer } from '@vercel/cosmosdb-server';

const port = Number(process.argv[2] ?? 0);
const tls = process.argv[3] === 'https';
const advertised = process.argv[4] ? Number(process.argv[4]) : undefined;
const server = tls ? createHttpsServer({ keepAlive: true }) : createHttpServer({ keepAlive: true });
const realAddress = server.address.bind(server);
if (advertised !== undefined) server.address = () => ({ ...realAddress(), port: advertised });
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${realAddress().port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections?.();
  server.close(() => process.exit(0));
});
