// Central finite differences of a network's loss, for gradient checks of the TypeScript trainers.
import { softmaxCrossEntropy, type Param } from "../../circuits/train/nn.ts";

/**
 * Backpropagates once for (x, label), then visits every parameter element with its analytic gradient and the central
 * difference (loss(v + eps) - loss(v - eps)) / 2eps, the value restored after. Returns how many elements it visited.
 */
export function centralDifferences(
  net: { params: Param[]; forward(x: Float32Array): Float32Array; backward(g: Float32Array): unknown; zeroGrad(): void },
  x: Float32Array,
  label: number,
  eps: number,
  visit: (numeric: number, analytic: number, checked: number) => void,
): number {
  const loss = () => softmaxCrossEntropy(net.forward(x), label).loss;
  net.zeroGrad();
  net.backward(softmaxCrossEntropy(net.forward(x), label).grad);
  let checked = 0;
  for (const p of net.params) {
    const analytic = p.grad.slice();
    for (let i = 0; i < p.value.length; i++) {
      const v = p.value[i]!;
      p.value[i] = v + eps;
      const up = loss();
      p.value[i] = v - eps;
      const down = loss();
      p.value[i] = v;
      visit((up - down) / (2 * eps), analytic[i]!, checked);
      checked++;
    }
  }
  return checked;
}
