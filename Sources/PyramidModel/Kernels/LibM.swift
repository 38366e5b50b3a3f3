#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The C math library's scalar functions, named apart from the tensor ops of the same name.
enum LibM {
    @inline(__always) static func pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
    @inline(__always) static func powf(_ x: Float, _ y: Float) -> Float { Glibc.powf(x, y) }
    @inline(__always) static func tanhf(_ x: Float) -> Float { Glibc.tanhf(x) }
}
