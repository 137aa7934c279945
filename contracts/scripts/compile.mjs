// Compiles the ledger (and the test-only contracts) with the pinned solc from npm and writes one JSON
// artifact per contract (ABI, creation and runtime bytecode, compiler settings) for the Python package.
// Usage: npm run compile [-- <output dir>]   (default: ../src/wattwitness/chain/artifacts)
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const outDir = path.resolve(process.argv[2] ?? path.join(root, "..", "src", "wattwitness", "chain", "artifacts"));

// The contracts we ship plus the ones only the tests deploy; OpenZeppelin comes in through imports.
const entries = ["src/WattWitnessLedger.sol", "test/ReentrantBeneficiary.sol"];
const wanted = ["WattWitnessLedger", "ReentrantBeneficiary"];

const settings = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 200 },
  // No metadata hash: the bytecode then depends on the sources and settings only, not on file paths.
  metadata: { bytecodeHash: "none" },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
};

const sources = Object.fromEntries(entries.map((p) => [p, { content: fs.readFileSync(path.join(root, p), "utf8") }]));

function findImports(importPath) {
  for (const base of [root, path.join(root, "node_modules")]) {
    const candidate = path.join(base, importPath);
    if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, "utf8") };
  }
  return { error: `import not found: ${importPath}` };
}

const output = JSON.parse(solc.compile(JSON.stringify({ language: "Solidity", sources, settings }), { import: findImports }));
const errors = (output.errors ?? []).filter((e) => e.severity === "error");
for (const e of output.errors ?? []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);

fs.mkdirSync(outDir, { recursive: true });
for (const [file, contracts] of Object.entries(output.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    if (!wanted.includes(name)) continue;
    const artifact = {
      contractName: name,
      sourceName: file,
      compiler: { name: "solc", version: solc.version(), settings: { evmVersion: settings.evmVersion, optimizer: settings.optimizer, metadata: settings.metadata } },
      abi: c.abi,
      bytecode: "0x" + c.evm.bytecode.object,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
    };
    fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(artifact, null, 2) + "\n");
    console.log(`wrote ${path.relative(process.cwd(), path.join(outDir, name + ".json"))}`);
  }
}
