after(async () => {
  await new Promise((r) => setTimeout(r, 3000));
  const hs = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  console.log("ACTIVE HANDLES", hs.map((h) => { const o = h as { constructor: { name: string }; spawnfile?: string; remoteAddress?: string; localPort?: number; _type?: string }; return `${o.constructor.name} ${o.spawnfile ?? ""} ${o.remoteAddress ?? ""} ${o.localPort ?? ""}`; }));
});
