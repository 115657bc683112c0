// Load on real descriptors (docs/reliability.md): as many watched descriptors as the hard limit
// allows, and 1,000,000 timer operations, each in a child process whose soft descriptor limit is
// raised to the hard one, with memory measured before and after, and the loop idle at the end
// (the child exits on its own: nothing the loop held keeps it alive). The tests themselves are
// the conformance package's (`describeLoad`), driven here by Node's loop.
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describeLoad } from "@evloop/conformance/node-reliability";

describeLoad({ module: "@evloop/libuv", factory: "createLibuvLoop", drive: "node", cwd: dirname(dirname(fileURLToPath(import.meta.url))) });
