/**
 * A loopback TCP proxy in front of the test broker that can fall silent: while silent, it
 * accepts connections and never answers on them (the state of a broker too loaded to answer
 * within the request timeout); connections accepted while speaking are forwarded both ways.
 * A silent connection stays open until the proxy closes, as a loaded broker's would.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export interface SilentProxy {
  /** `host:port` to give kafkajs as the bootstrap broker. */
  readonly address: string;
  /** New connections are held open and never answered, until `speak()`. */
  silence(): void;
  speak(): void;
  /** Connections accepted while silent. */
  readonly silentConnections: number;
  close(): Promise<void>;
}

export async function startSilentProxy(upstream: string): Promise<SilentProxy> {
  const [host, port] = splitAddress(upstream);
  const sockets = new Set<Socket>();
  let silent = false;
  let silentConnections = 0;
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (silent) {
      silentConnections++;
      client.resume(); // read and drop what kafkajs sends
      return;
    }
    const broker = connect(port, host);
    track(broker);
    client.pipe(broker).pipe(client);
    client.on('close', () => broker.destroy());
    broker.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: listening } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${listening}`,
    silence: () => {
      silent = true;
    },
    speak: () => {
      silent = false;
    },
    get silentConnections() {
      return silentConnections;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), Number(address.slice(at + 1))];
}
