console.log("phoenix-bench: not built yet");
