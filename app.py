"""Start the VideoMAE lab: ``python app.py [--host HOST] [--port PORT]``.

Host and port also come from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT; the default model preset from
VIDEOMAE_VIZ_PRESET (the embedded models, which work offline); the device from VIDEOMAE_VIZ_DEVICE (auto: CUDA when there).
"""

import argparse
import logging

from videomae_viz.ui import launch

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", help="interface to listen on (default: GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: GRADIO_SERVER_PORT or 7860)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    launch(server_name=args.host, server_port=args.port)
