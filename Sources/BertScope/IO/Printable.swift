/// `text` made safe to show inside a one-line error message: control, format and separator
/// characters written as Swift escapes (`\n`, `\u{1B}`, `\u{202E}`), so that a name read from
/// an untrusted file can neither break the line nor drive the terminal, and cut after `limit`
/// characters. Ordinary text comes back unchanged.
public func printable(_ text: some StringProtocol, limit: Int = 120) -> String {
  var out = ""
  var count = 0
  for scalar in text.unicodeScalars {
    if count == limit {
      out += "…"
      break
    }
    switch scalar.properties.generalCategory {
    case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
      out += scalar.escaped(asASCII: true)
    default:
      out.unicodeScalars.append(scalar)
    }
    count += 1
  }
  return out
}
