import Foundation
import Testing

@testable import BertScopeReport

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// An element of a parsed SVG/XML document: name, attributes and its text content.
struct XMLElementInfo {
  var name: String
  var attributes: [String: String]
  var text: String
  /// Names of the enclosing elements' `class` attributes, outermost first.
  var classes: [String]
}

/// Parses `xml` with Foundation's XMLParser; throws (with the parser's message) when it is not
/// well-formed.
func parseXML(_ xml: String) throws -> [XMLElementInfo] {
  final class Collector: NSObject, XMLParserDelegate {
    var elements: [XMLElementInfo] = []
    var open: [Int] = []
    var classStack: [String] = []
    func parser(
      _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
      attributes: [String: String] = [:]
    ) {
      open.append(elements.count)
      elements.append(XMLElementInfo(name: name, attributes: attributes, text: "", classes: classStack))
      classStack.append(attributes["class"] ?? "")
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) {
      if let i = open.last { elements[i].text += string }
    }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
      open.removeLast()
      classStack.removeLast()
    }
  }
  let parser = XMLParser(data: Data(xml.utf8))
  let collector = Collector()
  parser.delegate = collector
  guard parser.parse() else {
    throw XMLCheckError(message: parser.parserError.map { "\($0)" } ?? "not well-formed")
  }
  return collector.elements
}

struct XMLCheckError: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}

/// The eight bytes RGB components as a tuple-free array, for readable expectations.
func rgb(_ c: RGB) -> [UInt8] { [c.r, c.g, c.b] }
