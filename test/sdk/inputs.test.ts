// Input data encoding and the local commitment check (sdk/inputs.ts).
import { expect } from "chai";
import { hexToBytes, bytesToHex } from "viem";
import { checkInputData, decodeInputData, encodeInputData, verifyInput } from "../../sdk/inputs.ts";
import { hashVector } from "../../sdk/hash.ts";
import { InputError } from "../../sdk/errors.ts";

const mnistLike = Array.from({ length: 784 }, (_, i) => BigInt((i * 37) % 256) - 128n);

describe("sdk/inputs", () => {
  it("round-trips a 784 x 8-bit vector in 6 + 26 x 31 bytes", () => {
    const data = encodeInputData(mnistLike, 8);
    expect(hexToBytes(data).length).to.equal(6 + 26 * 31);
    const decoded = decodeInputData(data);
    expect(decoded.bits).to.equal(8);
    expect(decoded.values).to.deep.equal(mnistLike);
  });

  it("round-trips odd widths and lengths, including the extremes of the range", () => {
    for (const bits of [1, 7, 16, 24, 31, 124, 248]) {
      const lo = -(1n << BigInt(bits - 1));
      const hi = (1n << BigInt(bits - 1)) - 1n;
      const values = [lo, hi, 0n, lo + 1n, hi];
      expect(decodeInputData(encodeInputData(values, bits)).values, `bits ${bits}`).to.deep.equal(values);
    }
    expect(decodeInputData(encodeInputData([], 8)).values).to.deep.equal([]);
  });

  it("matches hashVector: verifyInput and checkInputData accept the right hash", () => {
    const h = hashVector(mnistLike, 8);
    expect(verifyInput(mnistLike, 8, h)).to.equal(true);
    expect(checkInputData(encodeInputData(mnistLike, 8), h, { length: 784, bits: 8 }).values).to.deep.equal(mnistLike);
  });

  it("rejects data that does not match the commitment, naming the reason", () => {
    const h = hashVector(mnistLike, 8);
    const tampered = [...mnistLike];
    tampered[400] = tampered[400]! + 1n;
    expect(verifyInput(tampered, 8, h)).to.equal(false);
    expect(() => checkInputData(encodeInputData(tampered, 8), h)).to.throw(InputError, /does not match its commitment/);
    expect(() => checkInputData(encodeInputData(mnistLike, 8), h, { length: 100 })).to.throw(InputError, /784 values, the model takes 100/);
    expect(() => checkInputData(encodeInputData(mnistLike, 8), h, { bits: 16 })).to.throw(InputError, /8-bit values/);
  });

  it("verifyInput is false (not a throw) for out-of-range values", () => {
    expect(verifyInput([200n], 8, 0n)).to.equal(false);
  });

  it("rejects malformed encodings: length, version, non-canonical padding", () => {
    const bytes = hexToBytes(encodeInputData([1n, 2n, 3n], 8));
    expect(() => decodeInputData(bytesToHex(bytes.slice(0, -1)))).to.throw(InputError, /expected/);
    const wrongVersion = bytes.slice();
    wrongVersion[0] = 2;
    expect(() => decodeInputData(wrongVersion)).to.throw(InputError, /version/);
    // Set a bit in an unused value slot of the only limb: decodes to the same 3 values, so must be refused.
    const stray = bytes.slice();
    stray[6] = 1;
    expect(() => decodeInputData(stray)).to.throw(InputError, /not canonical/);
  });

  it("rejects text that is not hex as bad input (an InputError, not an unknown failure)", () => {
    for (const data of ["0xzz", "hello", "0x123", "01", "0x 1"]) {
      expect(() => decodeInputData(data as `0x${string}`), data).to.throw(InputError, /not 0x-prefixed hex with whole bytes/);
    }
    expect(() => checkInputData("0xzz", 1n)).to.throw(InputError, /not 0x-prefixed hex/);
  });
});
