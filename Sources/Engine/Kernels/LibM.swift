#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The C math library's scalar functions. Inside this module the tensor ops `pow` and `tanh`
/// shadow the C functions of the same name, so these call them module-qualified.
enum LibM {
    #if canImport(Glibc)
    @inline(__always) static func pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
    @inline(__always) static func powf(_ x: Float, _ y: Float) -> Float { Glibc.powf(x, y) }
    @inline(__always) static func tanhf(_ x: Float) -> Float { Glibc.tanhf(x) }
    #else
    @inline(__always) static func pow(_ x: Double, _ y: Double) -> Double { Darwin.pow(x, y) }
    @inline(__always) static func powf(_ x: Float, _ y: Float) -> Float { Darwin.powf(x, y) }
    @inline(__always) static func tanhf(_ x: Float) -> Float { Darwin.tanhf(x) }
    #endif
}
