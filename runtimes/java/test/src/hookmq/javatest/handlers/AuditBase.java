package hookmq.javatest.handlers;

import io.hookmq.sdk.ClientInfo;
import io.hookmq.sdk.HookHandler;

/** An intermediate class: its overrides count for every subclass. */
public abstract class AuditBase extends HookHandler {
    @Override
    public void onSessionCreated(ClientInfo client) {
    }

    @Override
    public void onClientConnected(ClientInfo client) {
    }
}
