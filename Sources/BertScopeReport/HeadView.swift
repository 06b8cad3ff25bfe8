import BertScope
import CZlib
import Foundation

/// bertviz's head view of one example (Vig 2019): one layer at a time, a line from each token
/// (left column) to each token it attends to (right column), one colour per head, line opacity
/// the attention weight. Drawn by the page's script on a canvas from the weights inlined in the
/// page: quantized to `levels` + 1 opacity steps (one byte each), weights below `minimumWeight` (lines under 1 % opacity, which
/// cannot be seen) dropped to 0, zlib-compressed and base64-encoded in `data-weights`, decoded
/// with the browser's `DecompressionStream`.
public struct HeadView: Sendable {
  /// Unique in the report; letters, digits, '-' and '_' only.
  public var id: String
  /// Text after "Figure N." under the view.
  public var caption: String
  /// The example's tokens, L of them.
  public var tokens: [String]
  /// maps[layer][head], each (L, L), rows = queries.
  public var maps: [[Matrix]]
  /// Only the first `maxTokens` tokens are shown (and only the weights among them): keeps the
  /// page small and the columns readable for long examples.
  public var maxTokens: Int

  /// Weights below this are stored as 0 and draw no line: they would be drawn under 1 %
  /// opacity, and dropping them keeps long examples' pages small.
  public static let minimumWeight: Float = 0.01

  /// A weight w is stored as `round(levels × w)`: 64 opacity steps look continuous, and
  /// compress to about 3/4 of the size of 256.
  public static let levels = 63

  /// The default cap of `maxTokens`.
  public static let defaultMaxTokens = 128

  /// A head view of `maps` (`[layer][head]`, each L × L like `tokens`).
  public init(
    id: String, caption: String = "", tokens: [String], maps: [[Matrix]], maxTokens: Int = HeadView.defaultMaxTokens
  ) {
    self.id = id
    self.caption = caption
    self.tokens = tokens
    self.maps = maps
    self.maxTokens = maxTokens
  }

  /// Tokens shown: the first `min(L, maxTokens)`.
  public var shownTokens: Int { min(tokens.count, max(1, maxTokens)) }

  /// The shown weights as bytes, `[layer][head][from][to]` over the first `shownTokens` tokens,
  /// `round(levels × w)` clamped to 0…levels, 0 below `minimumWeight`.
  public func quantized() -> [UInt8] {
    let n = shownTokens
    var out: [UInt8] = []
    out.reserveCapacity(maps.count * (maps.first?.count ?? 0) * n * n)
    for layer in maps {
      for map in layer {
        for i in 0..<n {
          for j in 0..<n {
            let w = map[i, j]
            out.append(
              w.isFinite && w >= Self.minimumWeight
                ? UInt8(min(Double(Self.levels), (Double(w) * Double(Self.levels)).rounded())) : 0)
          }
        }
      }
    }
    return out
  }

  /// `quantized()` zlib-compressed (RFC 1950, what `DecompressionStream("deflate")` reads),
  /// base64-encoded.
  public func encodedWeights() throws -> String {
    Data(try Self.deflate(quantized())).base64EncodedString()
  }

  /// zlib `compress2` at level 9.
  static func deflate(_ bytes: [UInt8]) throws -> [UInt8] {
    var count = compressBound(uLong(bytes.count))
    var out = [UInt8](repeating: 0, count: Int(count))
    let status = compress2(&out, &count, bytes, uLong(bytes.count), 9)
    guard status == Z_OK else { throw BertScopeError.invalidInput("head view: zlib compress2 failed (\(status))") }
    out.removeSubrange(Int(count)...)
    return out
  }

  /// The bytes of `encodedWeights()` back (zlib `uncompress`), for checks; nil when they do not
  /// decode to `count` bytes.
  static func decodedWeights(_ base64: String, count: Int) -> [UInt8]? {
    guard let data = Data(base64Encoded: base64) else { return nil }
    var out = [UInt8](repeating: 0, count: count)
    var size = uLong(count)
    let input = [UInt8](data)
    guard uncompress(&out, &size, input, uLong(input.count)) == Z_OK, Int(size) == count else { return nil }
    return out
  }

  /// The `<figure>`: data attributes the script draws from, a `<noscript>` note, the caption.
  func html(number: Int) throws -> String {
    let n = shownTokens
    let (layers, heads) = (maps.count, maps.first?.count ?? 0)
    let tokenJSON = try JSONSerialization.data(withJSONObject: Array(tokens.prefix(n)))
    var s =
      "<figure class=\"figure head-view\" id=\"figure-\(id)\" data-figure=\"\(id)\" data-kind=\"head-view\" data-layers=\"\(layers)\" data-heads=\"\(heads)\" data-n=\"\(n)\" data-levels=\"\(Self.levels)\""
    s += " data-tokens=\"\(escapeXML(String(decoding: tokenJSON, as: UTF8.self)))\""
    s += " data-weights=\"\(try encodedWeights())\">\n"
    s += "<div class=\"hv-bar\"></div>\n<div class=\"scroll\"><div class=\"hv-body\"></div></div>\n"
    s += "<noscript><p>The head view is drawn by the page's script.</p></noscript>\n"
    var text = escapeXML(caption)
    if n < tokens.count {
      text +=
        " Only the first \(n) of the \(tokens.count) tokens are shown, and only the attention among them (the model view and its maps keep every token)."
    }
    s +=
      "<figcaption><b>Figure \(number).</b> \(text) Choose a layer; click a head's square to hide or show it, double-click to show it alone; point at a token to see only its lines.</figcaption>\n</figure>"
    return s
  }
}
