// The before/after comparison: the result laid over the photo and cut at the
// slider's position. The slider is a real range input, so the arrow keys,
// Home/End and Page Up/Down move it.
import { $ } from "./dom.js";

export function setUp() {
  const slider = $("compare-slider");
  const move = () => $("compare").style.setProperty("--pos", slider.value + "%");
  slider.addEventListener("input", move);
  move();
}

export function show(beforeUrl, afterUrl, fileName) {
  $("before-image").src = beforeUrl;
  $("after-image").src = afterUrl;
  $("compare-slider").value = "50";
  $("compare").style.setProperty("--pos", "50%");
  const download = $("download");
  download.href = afterUrl;
  download.download = fileName;
  $("result").hidden = false;
}

export function hide() {
  $("result").hidden = true;
  $("after-image").removeAttribute("src");
}
