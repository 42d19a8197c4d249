// Imported first by the daemon, before any module builds a schema: zod decides when an object
// schema is built whether it will compile a parser for it with `new Function`. The agent runs in
// V8's lite mode, where such a parser is interpreted like any other code, and the compiled
// parsers and their sources cost 0.4 MiB of the agent's RSS on the lab VM; without them a config
// validates in 0.22 instead of 0.13 ms on this host's Node in lite mode (docs/benchmarks.md#agent).
// The fleet simulator and the operator's CLI keep zod's default: with a JIT it parses faster.
import { z } from "zod";

z.config({ jitless: true });
