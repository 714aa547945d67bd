public enum LLMuxClientPlaceholder {}
