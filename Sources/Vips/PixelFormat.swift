import CVips

/// The numeric type of one band of one pixel.
public enum PixelFormat: String, Sendable {
    case uchar, char, ushort, short, uint, int, float, complex, double, dpcomplex

    init(_ format: VipsBandFormat) {
        switch format {
        case VIPS_FORMAT_CHAR: self = .char
        case VIPS_FORMAT_USHORT: self = .ushort
        case VIPS_FORMAT_SHORT: self = .short
        case VIPS_FORMAT_UINT: self = .uint
        case VIPS_FORMAT_INT: self = .int
        case VIPS_FORMAT_FLOAT: self = .float
        case VIPS_FORMAT_COMPLEX: self = .complex
        case VIPS_FORMAT_DOUBLE: self = .double
        case VIPS_FORMAT_DPCOMPLEX: self = .dpcomplex
        default: self = .uchar
        }
    }
}
