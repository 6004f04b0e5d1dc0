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

/// SwiGLU's gate: `gate[i] = silu(gate[i]) * up[i]`, with `silu(g) = g / (1 + e^-g)`.
public func siluMultiply(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
    for i in 0..<count {
        let g = gate[i]
        gate[i] = g / (1 + expf(-g)) * up[i]
    }
}

/// GeGLU's gate: `gate[i] = gelu(gate[i]) * up[i]`, with GELU's tanh approximation
/// `gelu(g) = g/2 * (1 + tanh(sqrt(2/π) * (g + 0.044715 g³)))` (Gemma's `gelu_pytorch_tanh`).
public func geluMultiply(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
    let c = Float(0.797_884_56)  // sqrt(2/π)
    for i in 0..<count {
        let g = gate[i]
        gate[i] = 0.5 * g * (1 + tanhf(c * (g + 0.044715 * g * g * g))) * up[i]
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
