// sync-spotify: the worker for Spotify recently played tracks (PROVIDERS.md, Spotify).
import { spotify } from "../_shared/providers/spotify.ts";
import { serveProvider } from "../_shared/worker.ts";

serveProvider(spotify);
