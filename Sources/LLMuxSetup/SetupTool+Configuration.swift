import LLMuxWire

extension SetupTool {
    /// This tool's configuration for `endpoint`. Where a tool can read the token from a
    /// variable or a command, the file names that instead of holding the token.
    package func configuration(for endpoint: SetupEndpoint) -> ToolConfiguration {
        let base = endpoint.baseURL
        let model = endpoint.model
        let openAIBase = base + "/v1"
        switch self {
        case .claudeCode:
            let env: [String: JSONValue] = [
                "ANTHROPIC_BASE_URL": .string(base),
                "ANTHROPIC_AUTH_TOKEN": .string(endpoint.token),
                "ANTHROPIC_MODEL": .string(model),
            ]
            let json = JSONValue.object(["env": .object(env)])
            var configuration = ToolConfiguration(tool: self, text: JSONText.pretty(json), json: json)
            configuration.environment = env.compactMapValues(\.stringValue)
            return configuration
        case .codex:
            let provider: [(key: String, value: String)] = [
                ("name", TOMLText.string("llmux")),
                ("base_url", TOMLText.string(openAIBase)),
                ("env_key", TOMLText.string(SetupEndpoint.tokenVariable)),
                ("wire_api", TOMLText.string("responses")),
                ("supports_websockets", "false"),
            ]
            let settings: [(key: String, value: String)] = [("model", TOMLText.string(model)), ("model_provider", TOMLText.string("llmux"))]
            var text = settings.map { "\($0.key) = \($0.value)\n" }.joined()
            text += "\n[model_providers.llmux]\n" + provider.map { "\($0.key) = \($0.value)\n" }.joined()
            var configuration = ToolConfiguration(tool: self, text: text)
            configuration.settings = settings
            configuration.tables = [("model_providers.llmux", provider)]
            configuration.environment = [SetupEndpoint.tokenVariable: endpoint.token]
            configuration.next = "export \(SetupEndpoint.tokenVariable)=$(llmux token)   # codex reads the token from it (llmux run codex sets it)"
            return configuration
        case .aider:
            // aider reads YAML with the option names of its command line; litellm's `openai/` prefix
            // sends the name after it to the OpenAI-compatible base unchanged.
            let settings: [(key: String, value: String)] = [
                ("openai-api-base", YAMLText.string(openAIBase)),
                ("openai-api-key", YAMLText.string(endpoint.token)),
                ("model", YAMLText.string("openai/" + model)),
            ]
            var configuration = ToolConfiguration(tool: self, text: settings.map { "\($0.key): \($0.value)\n" }.joined())
            configuration.settings = settings
            configuration.environment = ["OPENAI_API_BASE": openAIBase, "OPENAI_API_KEY": endpoint.token]
            configuration.arguments = ["--model", "openai/" + model]
            return configuration
        case .continue:
            let text = """
                name: llmux
                version: 1.0.0
                schema: v1
                models:
                  - name: \(YAMLText.string("llmux " + model))
                    provider: openai
                    model: \(YAMLText.string(model))
                    apiBase: \(YAMLText.string(openAIBase))
                    apiKey: \(YAMLText.string(endpoint.token))
                    roles:
                      - chat
                      - edit
                      - apply

                """
            return ToolConfiguration(tool: self, text: text)
        case .zed:
            let json = JSONValue.object([
                "language_models": .object([
                    "openai_compatible": .object([
                        "llmux": .object([
                            "api_url": .string(openAIBase),
                            "available_models": .array([
                                .object([
                                    "name": .string(model),
                                    "display_name": .string("llmux " + model),
                                    "max_tokens": .int(128_000),
                                ])
                            ]),
                        ])
                    ])
                ])
            ])
            var configuration = ToolConfiguration(tool: self, text: JSONText.pretty(json), json: json)
            configuration.environment = [SetupEndpoint.tokenVariable: endpoint.token]
            configuration.next = "export \(SetupEndpoint.tokenVariable)=$(llmux token)   # zed reads the llmux provider's key from it (llmux run zed sets it)"
            return configuration
        case .gptel:
            let text = """
                ;;; llmux-gptel.el --- gptel through llmux (written by `llmux setup gptel') -*- lexical-binding: t -*-
                (require 'gptel)
                (setq gptel-backend
                      (gptel-make-openai "llmux"
                        :host \(LispText.string(endpoint.hostPort))
                        :protocol "http"
                        :endpoint "/v1/chat/completions"
                        :stream t
                        :key (lambda () (string-trim (shell-command-to-string "llmux token")))
                        :models '(\(LispText.symbol(model))))
                      gptel-model '\(LispText.symbol(model)))
                (provide 'llmux-gptel)

                """
            var configuration = ToolConfiguration(tool: self, text: text)
            configuration.next = "add to your init file: (load \"~/.emacs.d/llmux-gptel.el\")"
            return configuration
        case .codecompanion:
            let text = """
                -- CodeCompanion through llmux (written by `llmux setup codecompanion`).
                -- Use it with: require("codecompanion").setup(require("llmux_codecompanion"))
                return {
                  adapters = {
                    http = {
                      llmux = function()
                        return require("codecompanion.adapters").extend("openai_compatible", {
                          formatted_name = "llmux",
                          env = {
                            url = \(LuaText.string(base)),
                            api_key = "cmd:llmux token",
                            chat_url = "/v1/chat/completions",
                          },
                          schema = { model = { default = \(LuaText.string(model)) } },
                        })
                      end,
                    },
                  },
                  interactions = {
                    chat = { adapter = "llmux" },
                    inline = { adapter = "llmux" },
                  },
                }

                """
            var configuration = ToolConfiguration(tool: self, text: text)
            configuration.next = "in your init.lua: require(\"codecompanion\").setup(require(\"llmux_codecompanion\"))"
            return configuration
        case .llm:
            let text = """
                - model_id: llmux
                  model_name: \(YAMLText.string(model))
                  api_base: \(YAMLText.string(openAIBase))
                  api_key_name: llmux

                """
            var configuration = ToolConfiguration(tool: self, text: text)
            configuration.next = "llmux token | llm keys set llmux   # then: llm -m llmux 'your prompt'"
            return configuration
        case .shell:
            let variables: [(String, String)] = [
                ("OPENAI_BASE_URL", openAIBase),
                ("OPENAI_API_BASE", openAIBase),
                ("OPENAI_API_KEY", endpoint.token),
                ("ANTHROPIC_BASE_URL", base),
                ("ANTHROPIC_AUTH_TOKEN", endpoint.token),
                (SetupEndpoint.tokenVariable, endpoint.token),
            ]
            var configuration = ToolConfiguration(tool: self, text: variables.map { "export \($0.0)=\(ShellText.quoted($0.1))\n" }.joined())
            configuration.environment = Dictionary(uniqueKeysWithValues: variables)
            configuration.next = "eval \"$(llmux setup shell)\""
            return configuration
        }
    }
}
