import Foundation
import Testing

@testable import BertScope

@Suite("config.json")
struct ConfigTests {
  @Test("reads the MiniLM config")
  func readsMiniLM() throws {
    let json =
      #"{"vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536, "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu"}"#
    let config = try BertConfig(json: Data(json.utf8))
    #expect(config.headDim == 32)
    #expect(config.numLayers == 6)
  }

  @Test("rejects heads that do not divide the hidden size")
  func rejectsHeads() {
    let json =
      #"{"vocab_size": 10, "hidden_size": 30, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 8}"#
    #expect(throws: BertScopeError.self) { try BertConfig(json: Data(json.utf8)) }
  }
}
