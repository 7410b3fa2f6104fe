

# ---------------------------------------------------------------- 1-bit kernels
# Packed tensors are bytes: channel c at bit c % 8 of byte c // 8 of the pixel's nb = 4 * words
# bytes (the blob's little-endian uint32 words); bit 1 = -1, unused bits 0 (docs/binary.md).
_POP8 = bytes(bin(i).count("1") for i in range(256))


def _binarize(x, xo, pixels, c_n, zp, nb, o, oo):
    for p in range(pixels):
        base = xo + p * c_n
        for j in range(nb):
            byte = 0
            c0 = j * 8
            for k in range(min(8, c_n - c0) if c0 < c_n else 0):
                if x[base + c0 + k] < zp:
                    byte |= 1 << k
            o[oo + j] = byte
        oo += nb


def _bconv_dots(x, xo, g, nb, cin, w, wpop, pad_one, cout, emit):
    """dot = K - 2 * popcount(a XOR w) over the valid taps; padded taps count 0 (pad_mode
    zero) or as +1 inputs, cin - 2 * popcount(w) (pad_mode one)."""
    ih, iw, _, oh, ow, _, kh, kw, sh, sw, dh, dw, pt, pl = g
    pop = _POP8
    rb = range(nb)
    ktap = kh * kw * nb
    for oy in range(oh):
        for ox in range(ow):
            for oc in range(cout):
                dot = 0
                t = 0
                for ky in range(kh):
                    iy = oy * sh - pt + ky * dh
                    for kx in range(kw):
                        ix = ox * sw - pl + kx * dw
                        wb = oc * ktap + t * nb
                        if 0 <= iy < ih and 0 <= ix < iw:
                            xb = xo + (iy * iw + ix) * nb
                            n1 = 0
                            for j in rb:
                                n1 += pop[x[xb + j] ^ w[wb + j]]
                            dot += cin - 2 * n1
                        elif pad_one:
                            dot += cin - 2 * wpop[oc * kh * kw + t]
                        t += 1
                emit(oc, dot)


def _tap_popcounts(w, cout, taps, nb):
    out = array.array("i", [0] * (cout * taps))
    for i in range(cout * taps):
        s = 0
        for j in range(nb):
            s += _POP8[w[i * nb + j]]
        out[i] = s
    return out


class _BinaryOut:
    """The binary layers' output transform (tinycnn/reference/binary_int.py): packed bits
    (dot < threshold[c]) or int8: clamp(zp + MBQM(dot * 2^dot_shift + bias_q[c]), act_min, act_max)."""

    def __init__(self, attrs, params, cout, o):
        self.o, self.cout = o, cout
        self.packed = attrs["output_mode"] == "packed"
        if self.packed:
            self.threshold = params["threshold"]
            self.nb = ((cout + 31) // 32) * 4
        else:
            self.bias, self.mult, self.shift = params["bias_q"], params["output_multiplier"], params["output_shift"]
            self.dot_shift, self.zp = attrs["dot_shift"], attrs["output_zero_point"]
            self.lo, self.hi = attrs["act_min"], attrs["act_max"]

    def start(self, oo):
        self.oo = oo

    def emit(self, oc, dot):
        o = self.o
        if self.packed:
            if oc == 0:
                for j in range(self.nb):
                    o[self.oo + j] = 0
            if dot < self.threshold[oc]:
                o[self.oo + (oc >> 3)] |= 1 << (oc & 7)
            if oc == self.cout - 1:
                self.oo += self.nb
            return
        v = _mbqm((dot << self.dot_shift) + self.bias[oc], self.mult[oc], self.shift[oc]) + self.zp
        o[self.oo] = self.lo if v < self.lo else (self.hi if v > self.hi else v)
        self.oo += 1


def _bfc(x, xo, nb_total, k_bits, w, cout, emit):
    pop = _POP8
    rb = range(nb_total)
    for oc in range(cout):
        wb = oc * nb_total
        n1 = 0
        for j in rb:
            n1 += pop[x[xo + j] ^ w[wb + j]]
        emit(oc, k_bits - 2 * n1)


def _bmaxpool(x, xo, g, nb, c_n, o, oo):
    """max of +-1 values: -1 (bit 1) only where every valid tap is -1 (a bitwise AND)."""
    ih, iw, _, oh, ow, _, kh, kw, sh, sw, _, _, pt, pl = g
    for oy in range(oh):
        ya = max(oy * sh - pt, 0)
        yb = min(oy * sh - pt + kh, ih)
        for ox in range(ow):
            xa = max(ox * sw - pl, 0)
            xb = min(ox * sw - pl + kw, iw)
            for j in range(nb):
                m = min(8, c_n - 8 * j) if 8 * j < c_n else 0
                v = (1 << m) - 1
                for iy in range(ya, yb):
                    for ix in range(xa, xb):
                        v &= x[xo + (iy * iw + ix) * nb + j]
                o[oo] = v
                oo += 1
