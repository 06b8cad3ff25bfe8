import Foundation

/// NFD, NFKD, NFC and NFKC with the alignment changes `unicode-normalization-alignments` reports
/// (the crate `tokenizers` normalises with): every scalar of a decomposition but the first is
/// "inserted" (change 1), the marks of each run of non-starters are put in canonical order with
/// their changes (a stable sort), and a composition of `a` and `b` carries `a + b - 1`.
enum UnicodeForms {
  /// One scalar of a normalised stream with its alignment change.
  struct Item {
    var scalar: Unicode.Scalar
    var change: Int
  }

  /// Appends the decomposition (canonical or compatibility) of `scalars`, in canonical order.
  static func decompose(_ scalars: ArraySlice<Unicode.Scalar>, compatible: Bool, into out: inout [Item]) {
    var parts: [Unicode.Scalar] = []
    var runStart = out.count
    for c in scalars {
      parts.removeAll(keepingCapacity: true)
      if c.value < 0xA0 || (!compatible && c.value < 0xC0) {
        parts.append(c)
      } else {
        RustUnicode.appendDecomposition(of: c, compatible: compatible, to: &parts)
      }
      for (k, part) in parts.enumerated() {
        if RustUnicode.combiningClass(part) == 0 {
          sortMarks(&out, from: runStart)
          runStart = out.count + 1
        }
        out.append(Item(scalar: part, change: k == 0 ? 0 : 1))
      }
    }
    sortMarks(&out, from: runStart)
  }

  /// Stable insertion sort of `items[start...]` by combining class.
  private static func sortMarks(_ items: inout [Item], from start: Int) {
    guard items.count - start > 1 else { return }
    for i in (start + 1)..<items.count {
      let item = items[i]
      let ccc = RustUnicode.combiningClass(item.scalar)
      var j = i
      while j > start && RustUnicode.combiningClass(items[j - 1].scalar) > ccc {
        items[j] = items[j - 1]
        j -= 1
      }
      items[j] = item
    }
  }

  /// Canonical composition of a decomposed stream, as the crate's `Recompositions` does it.
  static func compose(_ input: [Item], into out: inout [Item]) {
    var composee: Item? = nil
    var lastClass: UInt8? = nil
    var buffer: [Item] = []
    for item in input {
      let ccc = RustUnicode.combiningClass(item.scalar)
      guard let k = composee else {
        if ccc != 0 {
          out.append(item)
        } else {
          composee = item
        }
        continue
      }
      if let last = lastClass {
        if last >= ccc {
          if ccc == 0 {
            out.append(k)
            out.append(contentsOf: buffer)
            buffer.removeAll(keepingCapacity: true)
            composee = item
            lastClass = nil
          } else {
            buffer.append(item)
            lastClass = ccc
          }
          continue
        }
        if let r = RustUnicode.compose(k.scalar, item.scalar) {
          composee = Item(scalar: r, change: k.change + item.change - 1)
        } else {
          buffer.append(item)
          lastClass = ccc
        }
      } else {
        if let r = RustUnicode.compose(k.scalar, item.scalar) {
          composee = Item(scalar: r, change: k.change + item.change - 1)
        } else if ccc == 0 {
          out.append(k)
          composee = item
        } else {
          buffer.append(item)
          lastClass = ccc
        }
      }
    }
    if let k = composee { out.append(k) }
    out.append(contentsOf: buffer)
  }
}
