import Glibc

/// RMSNorm: `out[i] = x[i] / sqrt(mean(x²) + eps) * weight[i]`, `count` a multiple of 16.
/// `out` may be `x` (each chunk of 16 is read before it is written).
/// The sum of squares uses one SIMD16 accumulator and `horizontalSum`: a fixed order.
public func rmsNorm(
    _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    out: UnsafeMutablePointer<Float>, count: Int, eps: Float
) {
    let meanSquare = dot16(x, x, count: count) / Float(count)
    let scale = SIMD16<Float>(repeating: 1 / (meanSquare + eps).squareRoot())
    let rx = UnsafeRawPointer(x), rw = UnsafeRawPointer(weight), ro = UnsafeMutableRawPointer(out)
    var i = 0
    while i < count {
        let v = rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self) * scale
        ro.storeBytes(of: v * rw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self),
                      toByteOffset: 4 * i, as: SIMD16<Float>.self)
        i += 16
    }
}

/// SwiGLU's gate: `gate[i] = silu(gate[i]) * up[i]`, with `silu(g) = g / (1 + e^-g)`;
/// `count` a multiple of 16.
public func siluMultiply(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
    gatedMultiply(gate: gate, up: up, count: count) { $0 }
}

/// GeGLU's gate: `gate[i] = gelu(gate[i]) * up[i]`, with GELU's tanh approximation
/// `gelu(g) = g/2 * (1 + tanh(sqrt(2/π) * (g + 0.044715 g³)))` (Gemma's `gelu_pytorch_tanh`),
/// computed as `g / (1 + e^-2y)` with `y = sqrt(2/π) * (g + 0.044715 g³)`, the same value
/// (`1 + tanh(y) = 2 / (1 + e^-2y)`); `count` a multiple of 16.
public func geluMultiply(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
    let c = SIMD16<Float>(repeating: 2 * 0.797_884_56), k = SIMD16<Float>(repeating: 0.044715)  // 2 sqrt(2/π)
    gatedMultiply(gate: gate, up: up, count: count) { g in c * g.addingProduct(k * g, g * g) }
}

/// `gate[i] = gate[i] / (1 + e^-z(gate[i])) * up[i]`, 16 lanes at a time with the softmax's
/// `exp16` (the same operations in every lane, so a token's values never depend on the
/// batch). `-z` is capped at 80 (exp16 holds up to 88): there `g / (1 + e^-z)` is within
/// 1e-34 * |g| of 0 either way.
@inline(__always)
private func gatedMultiply(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int,
                           _ z: (SIMD16<Float>) -> SIMD16<Float>) {
    precondition(count % 16 == 0, "gated feed-forward widths are multiples of 16")
    let rg = UnsafeMutableRawPointer(gate), ru = UnsafeRawPointer(up)
    let cap = SIMD16<Float>(repeating: 80), one = SIMD16<Float>(repeating: 1)
    var i = 0
    while i < count {
        let g = rg.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        let negated = -z(g)
        let e = exp16(negated.replacing(with: cap, where: negated .> cap))
        let u = ru.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        rg.storeBytes(of: g / (one + e) * u, toByteOffset: 4 * i, as: SIMD16<Float>.self)
        i += 16
    }
}

/// `x[i] *= s`: scales token embeddings (Gemma multiplies them by sqrt(d_model)).
public func scale(_ x: UnsafeMutablePointer<Float>, by s: Float, count: Int) {
    for i in 0..<count { x[i] *= s }
}

/// `x[i] += y[i]`: the residual connection.
public func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { x[i] += y[i] }
}
