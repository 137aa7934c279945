/** Entry point compiled to WASM by `cre workflow deploy` / `cre-compile`; not run in the tests. */
import { Runner } from "@chainlink/cre-sdk";

import { configSchema, initWorkflow } from "./workflow";

export async function main() {
  const runner = await Runner.newRunner({ configSchema });
  await runner.run(initWorkflow);
}

main();
