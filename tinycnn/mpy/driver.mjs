// Run a MicroPython script in the MicroPython webassembly port under node, with files copied
// into its in-memory filesystem and results copied back:
//   node driver.mjs MICROPYTHON_MJS HEAP_BYTES WORKDIR
// WORKDIR/in/* are written to /mpy/*, WORKDIR/main.py is executed, /mpy/out/* are copied back
// to WORKDIR/out/. Exit code 1 on a Python exception (its traceback on stderr).
// main.py is split at lines "#---STEP---" into setup, step and finish chunks, each run with its
// own runPython call; the step chunk repeats while the Python global _more is true. This port
// collects garbage only between runPython calls (at the top level, where no root pointers
// sit on the wasm stack), so gc.mem_alloc() at the start of a chunk is the live heap.
import fs from "fs";
import path from "path";
import url from "url";

const [mpjs, heapArg, workdir] = process.argv.slice(2);
const { loadMicroPython } = await import(url.pathToFileURL(mpjs).href);
const mp = await loadMicroPython({
  heapsize: parseInt(heapArg, 10),
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});
mp.FS.mkdir("/mpy");
mp.FS.mkdir("/mpy/out");
const inDir = path.join(workdir, "in");
for (const name of fs.readdirSync(inDir)) {
  mp.FS.writeFile("/mpy/" + name, fs.readFileSync(path.join(inDir, name)));
}
let rc = 0;
try {
  const [setup, step, finish] = fs.readFileSync(path.join(workdir, "main.py"), "utf8").split("#---STEP---\n");
  mp.runPython(setup);
  while (mp.globals.get("_more")) mp.runPython(step);
  mp.runPython(finish);
} catch (error) {
  if (error.name !== "PythonError") throw error;
  process.stderr.write(error.message + "\n");
  rc = 1;
}
const outDir = path.join(workdir, "out");
fs.mkdirSync(outDir, { recursive: true });
for (const name of mp.FS.readdir("/mpy/out")) {
  if (name === "." || name === "..") continue;
  fs.writeFileSync(path.join(outDir, name), mp.FS.readFile("/mpy/out/" + name));
}
process.exit(rc);
