// Crop a chosen photo to a square in the browser before it is uploaded.
//
// The chosen file is drawn on a canvas with a square selection over it. The selection moves by
// dragging (pointer) or with the arrow keys, and zooms with the wheel, the buttons or + and -.
// When the form is sent, the square is exported (PNG, or JPEG for a JPEG photo) and put in the
// file input in place of the original, so the ordinary multipart form carries it: without
// script, the original file is sent as chosen. The server checks the bytes either way.

const OUTPUT_MAX = 512; // pixels per side of the saved square
const MIN_SIDE = 16;

function setup(form) {
  const input = form.querySelector("[data-crop-input]");
  const box = form.querySelector("[data-crop]");
  if (!input || !box || typeof DataTransfer === "undefined") return;
  const canvas = box.querySelector("canvas");
  const preview = box.querySelector(".crop-preview");
  const status = box.querySelector(".crop-status");
  const ctx = canvas.getContext("2d");
  let image = null;
  let type = "image/png";
  let name = "photo.png";
  let sel = { x: 0, y: 0, side: 0 };
  let view = { scale: 1, dx: 0, dy: 0 };
  let drag = null;
  let cropped = false;

  function clamp() {
    const max = Math.min(image.naturalWidth, image.naturalHeight);
    sel.side = Math.max(Math.min(MIN_SIDE, max), Math.min(sel.side, max));
    sel.x = Math.max(0, Math.min(sel.x, image.naturalWidth - sel.side));
    sel.y = Math.max(0, Math.min(sel.y, image.naturalHeight - sel.side));
  }

  function draw() {
    clamp();
    const { scale, dx, dy } = view;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(image, dx, dy, image.naturalWidth * scale, image.naturalHeight * scale);
    const sx = dx + sel.x * scale;
    const sy = dy + sel.y * scale;
    const side = sel.side * scale;
    ctx.fillStyle = "rgba(0, 0, 0, 0.55)";
    ctx.beginPath();
    ctx.rect(0, 0, canvas.width, canvas.height);
    ctx.rect(sx, sy, side, side);
    ctx.fill("evenodd");
    ctx.strokeStyle = "#ffffff";
    ctx.lineWidth = 2;
    ctx.strokeRect(sx + 1, sy + 1, side - 2, side - 2);
    preview.src = exportCanvas().toDataURL(type);
  }

  function exportCanvas() {
    const out = document.createElement("canvas");
    const size = Math.max(1, Math.round(Math.min(sel.side, OUTPUT_MAX)));
    out.width = size;
    out.height = size;
    out.getContext("2d").drawImage(image, sel.x, sel.y, sel.side, sel.side, 0, 0, size, size);
    return out;
  }

  function announce() {
    const pct = Math.round((100 * sel.side) / Math.min(image.naturalWidth, image.naturalHeight));
    status.textContent = `Square of ${Math.round(sel.side)} pixels (${pct}% of the picture) at ${Math.round(sel.x)}, ${Math.round(sel.y)}.`;
  }

  function zoom(factor) {
    const cx = sel.x + sel.side / 2;
    const cy = sel.y + sel.side / 2;
    sel.side = sel.side * factor;
    sel.x = cx - sel.side / 2;
    sel.y = cy - sel.side / 2;
    draw();
    announce();
  }

  function load(file) {
    cropped = false;
    if (!file || !/^image\/(png|jpeg|webp|gif)$/.test(file.type)) {
      box.hidden = true;
      image = null;
      return;
    }
    type = file.type === "image/jpeg" ? "image/jpeg" : "image/png";
    name = type === "image/jpeg" ? "photo.jpg" : "photo.png";
    const reader = new FileReader();
    reader.onload = () => {
      const img = new Image();
      img.onload = () => {
        image = img;
        const w = img.naturalWidth;
        const h = img.naturalHeight;
        view.scale = Math.min(canvas.width / w, canvas.height / h);
        view.dx = (canvas.width - w * view.scale) / 2;
        view.dy = (canvas.height - h * view.scale) / 2;
        sel = { side: Math.min(w, h), x: (w - Math.min(w, h)) / 2, y: (h - Math.min(w, h)) / 2 };
        box.hidden = false;
        box.dataset.ready = "true";
        draw();
        announce();
      };
      img.onerror = () => {
        box.hidden = true;
        image = null;
      };
      img.src = reader.result;
    };
    reader.readAsDataURL(file);
  }

  input.addEventListener("change", () => load(input.files && input.files[0]));

  canvas.addEventListener("pointerdown", (event) => {
    if (!image) return;
    canvas.setPointerCapture(event.pointerId);
    drag = { x: event.clientX, y: event.clientY, sx: sel.x, sy: sel.y };
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drag) return;
    sel.x = drag.sx + (event.clientX - drag.x) / view.scale;
    sel.y = drag.sy + (event.clientY - drag.y) / view.scale;
    draw();
  });
  const stop = () => {
    if (drag) announce();
    drag = null;
  };
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  canvas.addEventListener(
    "wheel",
    (event) => {
      if (!image) return;
      event.preventDefault();
      zoom(event.deltaY < 0 ? 0.9 : 1 / 0.9);
    },
    { passive: false },
  );
  canvas.addEventListener("keydown", (event) => {
    if (!image) return;
    const step = Math.max(1, sel.side * 0.05);
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[event.key]) {
      sel.x += moves[event.key][0];
      sel.y += moves[event.key][1];
      draw();
      announce();
    } else if (event.key === "+" || event.key === "=") {
      zoom(0.9);
    } else if (event.key === "-" || event.key === "_") {
      zoom(1 / 0.9);
    } else {
      return;
    }
    event.preventDefault();
  });
  box.querySelectorAll("[data-crop-zoom]").forEach((button) => {
    button.addEventListener("click", () => {
      if (image) zoom(button.dataset.cropZoom === "in" ? 0.9 : 1 / 0.9);
    });
  });

  form.addEventListener("submit", (event) => {
    if (!image || cropped) return;
    event.preventDefault();
    exportCanvas().toBlob(
      (blob) => {
        if (blob) {
          const files = new DataTransfer();
          files.items.add(new File([blob], name, { type }));
          input.files = files.files;
        }
        cropped = true;
        // submit() sends the form without this handler running again.
        form.submit();
      },
      type,
      0.92,
    );
  });
}

document.querySelectorAll("form[data-crop-form]").forEach(setup);
