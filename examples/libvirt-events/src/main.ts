// node dist/main.js [--uri test:///default] [--domain test] [--cycles 2]
import { parseArgs } from "node:util";
import { libvirtAvailable, libvirtVersion } from "@evloop/libvirt";
import { watchDomainEvents } from "./watch.ts";

const { values } = parseArgs({
  options: { uri: { type: "string" }, domain: { type: "string" }, cycles: { type: "string" } },
});

if (!libvirtAvailable()) {
  console.error("libvirt-dev not installed: @evloop/libvirt's addon is not built (apt-get install libvirt-dev, then pnpm install)");
  process.exit(1);
}
console.log(`libvirt ${libvirtVersion()}, Node ${process.version}`);
const events = await watchDomainEvents({
  ...(values.uri !== undefined ? { uri: values.uri } : {}),
  ...(values.domain !== undefined ? { domain: values.domain } : {}),
  ...(values.cycles !== undefined ? { cycles: Number(values.cycles) } : {}),
});
console.log(`${events.length} events; the connection and the loop are closed.`);
