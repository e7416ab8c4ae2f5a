// The two Echogarden WASM packages ship no type declarations; these describe only what we call.

declare module "@echogarden/svoxpico-wasm" {
  export interface SvoxPicoModule {
    HEAPU8: Uint8Array;
    HEAP16: Int16Array;
    HEAPU32: Uint32Array;
    FS: {
      mkdir(path: string): void;
      writeFile(path: string, data: Uint8Array): void;
      unlink(path: string): void;
    };
    _malloc(size: number): number;
    _free(ptr: number): void;
    _pico_initialize(memory: number, size: number, outSystem: number): number;
    _pico_terminate(inoutSystem: number): number;
    _pico_getSystemStatusMessage(system: number, code: number, outMessage: number): number;
    _pico_loadResource(system: number, fileName: number, outResource: number): number;
    _pico_unloadResource(system: number, inoutResource: number): number;
    _pico_getResourceName(system: number, resource: number, outName: number): number;
    _pico_createVoiceDefinition(system: number, voiceName: number): number;
    _pico_addResourceToVoiceDefinition(system: number, voiceName: number, resourceName: number): number;
    _pico_releaseVoiceDefinition(system: number, voiceName: number): number;
    _pico_newEngine(system: number, voiceName: number, outEngine: number): number;
    _pico_disposeEngine(system: number, inoutEngine: number): number;
    _pico_putTextUtf8(engine: number, text: number, textSize: number, outBytesPut: number): number;
    _pico_getData(engine: number, outBuffer: number, bufferSize: number, outBytes: number, outDataType: number): number;
    _pico_resetEngine(engine: number, resetMode: number): number;
  }
  const SvoxPico: (moduleArg?: Record<string, unknown>) => Promise<SvoxPicoModule>;
  export default SvoxPico;
}

declare module "@echogarden/speex-resampler-wasm" {
  export interface SpeexResamplerModule {
    HEAPF32: Float32Array;
    HEAPU32: Uint32Array;
    HEAP32: Int32Array;
    _malloc(size: number): number;
    _free(ptr: number): void;
    _speex_resampler_init(channels: number, inRate: number, outRate: number, quality: number, errPtr: number): number;
    _speex_resampler_destroy(state: number): void;
    _speex_resampler_skip_zeros(state: number): number;
    _speex_resampler_get_input_latency(state: number): number;
    _speex_resampler_process_float(state: number, channel: number, input: number, inLenPtr: number, output: number, outLenPtr: number): number;
    _speex_resampler_strerror(code: number): number;
  }
  const SpeexResampler: (moduleArg?: Record<string, unknown>) => Promise<SpeexResamplerModule>;
  export default SpeexResampler;
}

declare module "@echogarden/speex-resampler-wasm/simd" {
  import type { SpeexResamplerModule } from "@echogarden/speex-resampler-wasm";
  const SpeexResampler: (moduleArg?: Record<string, unknown>) => Promise<SpeexResamplerModule>;
  export default SpeexResampler;
}
