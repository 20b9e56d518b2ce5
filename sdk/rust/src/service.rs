//! Serving an [`Extension`] with tonic: the generated `Extension` gRPC service, each stream run
//! on its own task, and [`serve`] / [`serve_with_shutdown`] for a listener.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::Stream;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status, Streaming};

use crate::extension::Extension;
use crate::proto::v1::{self as pb, extension_server};

/// Why serving stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

struct Service(Arc<Extension>);

type Frames = Pin<Box<dyn Stream<Item = Result<pb::ExtensionFrame, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl extension_server::Extension for Service {
    type StreamStream = Frames;

    async fn stream(
        &self,
        request: Request<Streaming<pb::BrokerFrame>>,
    ) -> Result<Response<Frames>, Status> {
        let (tx, mut rx) = mpsc::channel(4);
        tokio::spawn(self.0.clone().run(request.into_inner(), tx));
        let frames = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        Ok(Response::new(Box::pin(frames)))
    }
}

/// The tonic service of `extension`, to add to a `tonic::transport::Server` of your own.
pub fn service(
    extension: Extension,
) -> extension_server::ExtensionServer<impl extension_server::Extension> {
    extension_server::ExtensionServer::new(Service(Arc::new(extension)))
        .max_decoding_message_size(64 * 1024 * 1024)
        .max_encoding_message_size(64 * 1024 * 1024)
}

/// Serves `extension` on `listener` until the process ends.
pub async fn serve(extension: Extension, listener: TcpListener) -> Result<(), ServeError> {
    serve_with_shutdown(extension, listener, std::future::pending()).await
}

/// Serves `extension` on `listener` until `shutdown` resolves.
pub async fn serve_with_shutdown(
    extension: Extension,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(service(extension))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}
