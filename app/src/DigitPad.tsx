// A canvas to draw a digit on with mouse, pen or touch; reports the 28x28 MNIST frame of the ink after each stroke.
import { useEffect, useRef } from "react";
import { inkFromRgba, toMnistFrame } from "./digits.ts";

const SIZE = 280;

export function DigitPad({ onFrame }: { onFrame: (frame: Float32Array | null) => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const preview = useRef<HTMLCanvasElement>(null);
  const drawing = useRef(false);

  const ctx = () => canvas.current?.getContext("2d", { willReadFrequently: true }) ?? null;
  const clear = () => {
    const c = ctx();
    if (c) { c.fillStyle = "#fff"; c.fillRect(0, 0, SIZE, SIZE); }
    showPreview(null);
    onFrame(null);
  };
  useEffect(clear, []);

  function showPreview(frame: Float32Array | null) {
    const p = preview.current?.getContext("2d");
    if (!p) return;
    const img = p.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = 255 - Math.round(255 * (frame?.[i] ?? 0));
      img.data.set([v, v, v, 255], 4 * i);
    }
    p.putImageData(img, 0, 0);
  }

  const pos = (e: React.PointerEvent) => {
    const r = canvas.current!.getBoundingClientRect();
    return [((e.clientX - r.left) * SIZE) / r.width, ((e.clientY - r.top) * SIZE) / r.height] as const;
  };
  const down = (e: React.PointerEvent) => {
    const c = ctx();
    if (!c) return;
    drawing.current = true;
    canvas.current!.setPointerCapture?.(e.pointerId);
    const [x, y] = pos(e);
    c.strokeStyle = "#000"; c.lineWidth = 22; c.lineCap = "round"; c.lineJoin = "round";
    c.beginPath(); c.moveTo(x, y); c.lineTo(x + 0.1, y + 0.1); c.stroke();
  };
  const move = (e: React.PointerEvent) => {
    if (!drawing.current) return;
    const c = ctx()!;
    const [x, y] = pos(e);
    c.lineTo(x, y); c.stroke();
  };
  const up = () => {
    if (!drawing.current) return;
    drawing.current = false;
    const c = ctx()!;
    const data = c.getImageData(0, 0, SIZE, SIZE).data;
    const frame = toMnistFrame(inkFromRgba(data, SIZE, SIZE), SIZE, SIZE);
    showPreview(frame);
    onFrame(frame.some((v) => v > 0) ? frame : null);
  };

  return (
    <div className="pad">
      <canvas ref={canvas} width={SIZE} height={SIZE} data-testid="digit-canvas" className="draw"
        onPointerDown={down} onPointerMove={move} onPointerUp={up} onPointerLeave={up} />
      <div className="pad-side">
        <canvas ref={preview} width={28} height={28} className="preview" data-testid="digit-preview" title="what the model sees (28x28)" />
        <div className="sub">model input, 28×28</div>
        <button type="button" onClick={clear}>clear</button>
      </div>
    </div>
  );
}
