// Run a MicroPython script in the MicroPython webassembly port under node, with files copied
// into its in-memory filesystem and results copied back:
//   node driver.mjs MICROPYTHON_MJS HEAP_BYTES WORKDIR
// WORKDIR/in/* are written to /mpy/*, WORKDIR/main.py is executed, /mpy/out/* are copied back
// to WORKDIR/out/. Exit code 1 on a Python exception (its traceback on stderr).
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
  mp.runPython(fs.readFileSync(path.join(workdir, "main.py"), "utf8"));
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
