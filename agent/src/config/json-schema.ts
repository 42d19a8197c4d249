// JSON Schema generated from the zod schema (never written by hand).
import { z } from "zod";
import { ConfigSchema } from "./schema.js";

export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(ConfigSchema, { io: "input", unrepresentable: "any" }),
    $id: "https://gate64.invalid/schema/config.json",
    title: "gate64 device configuration",
  };
}
