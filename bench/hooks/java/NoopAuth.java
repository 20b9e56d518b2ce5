import io.hookmq.sdk.ClientInfo;
import io.hookmq.sdk.HookHandler;

/** A no-op client_authenticate hook for benchmarks: no decision (the broker's default applies). */
public class NoopAuth extends HookHandler {
    @Override
    public Boolean onClientAuthenticate(ClientInfo client, boolean result) {
        return null;
    }
}
