#ifndef LLMUX_FUZZ_DRIVER_H
#define LLMUX_FUZZ_DRIVER_H

/// Runs libFuzzer's driver on this executable's LLVMFuzzerTestOneInput.
/// SwiftPM links an executable target's entry point as `main`, so each fuzzer
/// defines that entry point and calls this instead of using libFuzzer's main.
int llmux_fuzz_main(int argc, char **argv);

#endif
