import AtomicFile
import Foundation

/// Element types this project writes into safetensors files.
public enum SafeTensorsDType: String, Sendable {
    case f32 = "F32"
    case u64 = "U64"
    case i64 = "I64"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32: return 4
        case .u64, .i64: return 8
        }
    }
}

/// One named tensor of a safetensors file: its type, shape and raw little-endian bytes.
public struct SafeTensor: Equatable, Sendable {
    public var dtype: SafeTensorsDType
    public var shape: [Int]
    public var bytes: [UInt8]

    public init(dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) {
        precondition(shape.reduce(1, *) * dtype.size == bytes.count,
                     "SafeTensor: shape \(shape) of \(dtype.rawValue) needs \(shape.reduce(1, *) * dtype.size) bytes, got \(bytes.count)")
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// A float32 tensor.
    public init(shape: [Int], floats: [Float]) {
        self.init(dtype: .f32, shape: shape, bytes: floats.withUnsafeBytes { Array($0) })
    }

    /// A one-dimensional uint64 tensor.
    public init(uint64s: [UInt64]) {
        self.init(dtype: .u64, shape: [uint64s.count], bytes: uint64s.withUnsafeBytes { Array($0) })
    }

    /// A one-dimensional int64 tensor.
    public init(int64s: [Int64]) {
        self.init(dtype: .i64, shape: [int64s.count], bytes: int64s.withUnsafeBytes { Array($0) })
    }

    /// The values as floats (the caller checked `dtype == .f32`). Little-endian hosts only.
    public var floats: [Float] { bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } }
    public var uint64s: [UInt64] { bytes.withUnsafeBytes { Array($0.bindMemory(to: UInt64.self)) } }
    public var int64s: [Int64] { bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) } }
}

/// A safetensors file: an 8-byte little-endian header length, a JSON header mapping each tensor
/// name to `{"dtype", "shape", "data_offsets"}` plus a `__metadata__` string map, then the data.
///
/// Serialisation is deterministic (tensors in the order given, metadata keys sorted, header
/// padded with spaces to 8 bytes as the reference implementation does), so the same model is
/// the same bytes. A checksum of the data goes into the metadata under `checksumKey` and is
/// verified on parsing: safetensors itself cannot detect flipped data bytes.
public struct SafeTensorsFile: Sendable {
    /// Tensors in file order.
    public var tensors: [(name: String, tensor: SafeTensor)]
    /// The `__metadata__` map.
    public var metadata: [String: String]

    /// Metadata key of the FNV-1a 64 checksum of the data section, in hex.
    public static let checksumKey = "data_fnv1a64"
    /// Upper bound of a header: 100 MB, as the reference implementation.
    static let maxHeaderSize = 100_000_000

    public init(tensors: [(name: String, tensor: SafeTensor)] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor called `name`, if any.
    public subscript(name: String) -> SafeTensor? {
        tensors.first(where: { $0.name == name })?.tensor
    }

    /// The file's bytes.
    public func serialized() -> [UInt8] {
        var data: [UInt8] = []
        data.reserveCapacity(tensors.reduce(0) { $0 + $1.tensor.bytes.count })
        var entries: [String] = []
        for (name, t) in tensors {
            let begin = data.count
            data.append(contentsOf: t.bytes)
            entries.append("\(jsonString(name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(begin),\(data.count)]}")
        }
        var meta = metadata
        meta[Self.checksumKey] = String(fnv1a64(data), radix: 16)
        let metaJSON = meta.keys.sorted().map { "\(jsonString($0)):\(jsonString(meta[$0]!))" }.joined(separator: ",")
        var header = Array("{\"__metadata__\":{\(metaJSON)}\(entries.isEmpty ? "" : ",")\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + data.count)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        out.append(contentsOf: data)
        return out
    }

    /// Parses and validates a file's bytes. `path` only names the file in errors.
    public static func parse(_ bytes: [UInt8], path: String) throws -> SafeTensorsFile {
        func fail(_ kind: ModelFileProblem, _ reason: String) -> SinGANError {
            .modelFile(path: path, kind: kind, reason: reason)
        }
        guard bytes.count >= 8 else {
            throw fail(bytes.isEmpty ? .truncated : .truncated, "\(bytes.count) bytes, shorter than the 8-byte header length")
        }
        let headerLength = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(maxHeaderSize) else {
            throw fail(.corrupt, "header length \(headerLength) is implausible (not a safetensors file?)")
        }
        guard 8 + Int(headerLength) <= bytes.count else {
            throw fail(.truncated, "header of \(headerLength) bytes but only \(bytes.count - 8) bytes follow")
        }
        let headerBytes = bytes[8..<(8 + Int(headerLength))]
        guard let object = try? JSONSerialization.jsonObject(with: Data(headerBytes)),
              let header = object as? [String: Any] else {
            throw fail(.corrupt, "the header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataCount = bytes.count - dataStart

        var metadata: [String: String] = [:]
        if let meta = header["__metadata__"] {
            guard let m = meta as? [String: String] else { throw fail(.corrupt, "__metadata__ is not a map of strings") }
            metadata = m
        }
        var parsed: [(name: String, dtype: SafeTensorsDType, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any],
                  let dtypeName = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int],
                  let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw fail(.corrupt, "tensor '\(name)' has a malformed header entry")
            }
            guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
                throw fail(.incompatible, "tensor '\(name)' has dtype \(dtypeName); this program reads F32, U64 and I64")
            }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[1] >= offsets[0],
                  shape.reduce(1, *) * dtype.size == offsets[1] - offsets[0] else {
                throw fail(.corrupt, "tensor '\(name)': shape \(shape) of \(dtypeName) does not match data offsets \(offsets)")
            }
            parsed.append((name, dtype, shape, offsets[0], offsets[1]))
        }
        parsed.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        // The data section must be covered exactly, without holes or overlaps.
        var expected = 0
        for p in parsed {
            guard p.begin == expected else {
                throw fail(.corrupt, "tensor '\(p.name)' starts at byte \(p.begin) of the data, expected \(expected)")
            }
            expected = p.end
        }
        guard expected <= dataCount else {
            throw fail(.truncated, "the tensors need \(expected) bytes of data but the file holds \(dataCount)")
        }
        guard expected == dataCount else {
            throw fail(.corrupt, "\(dataCount - expected) bytes of data belong to no tensor")
        }
        let data = bytes[dataStart...]
        if let recorded = metadata[checksumKey] {
            let actual = String(fnv1a64(data), radix: 16)
            guard recorded == actual else {
                throw fail(.corrupt, "data checksum \(actual) differs from the recorded \(recorded)")
            }
        }
        let tensors = parsed.map { p in
            (name: p.name, tensor: SafeTensor(dtype: p.dtype, shape: p.shape,
                                               bytes: Array(bytes[(dataStart + p.begin)..<(dataStart + p.end)])))
        }
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    /// Reads and parses the file at `path`.
    public static func read(from path: String) throws -> SafeTensorsFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file"
            throw SinGANError.modelFile(path: path, kind: .unreadable, reason: reason)
        }
        return try parse([UInt8](data), path: path)
    }

    /// Writes the file atomically: to a temporary file in the same directory, flushed to disk,
    /// then renamed over `path`. A reader (or a crash) sees the old file or the new one, never a
    /// partial one.
    public func write(to path: String) throws {
        do {
            try AtomicFile.write(serialized(), to: path)
        } catch AtomicFileError.writeFailed(_, let reason) {
            throw SinGANError.writeFailed(path: path, reason: reason)
        }
    }
}

/// 64-bit FNV-1a over bytes.
func fnv1a64<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes {
        hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01b3
    }
    return hash
}

/// A JSON string literal of `s` (quotes, backslashes and control characters escaped).
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where u.value < 0x20:
            out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}
