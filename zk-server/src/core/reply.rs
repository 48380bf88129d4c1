//! Turning a write's [`TxnResult`] into the reply body its op code calls for
//! (`FinalRequestProcessor`).

use zk_core::proto::{
    Create2Response, CreateResponse, GetDataResponse, SetAclResponse, SetDataResponse,
};
use zk_core::{ErrorCode, MultiResult, Request, Response};

use super::tree::TxnResult;

fn multi_result(op: &Request, r: TxnResult) -> MultiResult {
    // The result is typed by the op as Apache ZooKeeper rebuilds it from its flags: a create2
    // becomes a plain create, any create record with the container flag a createContainer.
    let op = super::prepare::multi_create_as_apache(op);
    match (op.as_deref(), r) {
        (Some(Request::Create(_) | Request::Create2(_)), TxnResult::Created { path, .. }) => {
            MultiResult::Create(path)
        }
        (_, TxnResult::Created { path, stat }) => {
            MultiResult::Create2(Create2Response { path, stat })
        }
        (_, TxnResult::Deleted) => MultiResult::Delete,
        (_, TxnResult::SetData(stat)) => MultiResult::SetData(stat),
        (_, TxnResult::Checked) => MultiResult::Check,
        (_, TxnResult::Error(e)) => MultiResult::Error(e),
        (_, other) => {
            tracing::error!(?other, "unexpected multi sub-result");
            MultiResult::Error(ErrorCode::RuntimeInconsistency)
        }
    }
}

/// The reply header error and body for a write request and its applied result. A reconfig is
/// answered with the config it installed (`config`, the data of `/zookeeper/config`) and that
/// node's stat, as a getData.
pub fn write_response(
    req: &Request,
    result: TxnResult,
    config: impl FnOnce() -> Option<bytes::Bytes>,
) -> (ErrorCode, Option<Response>) {
    match (req, result) {
        (_, TxnResult::Error(e)) => (e, None),
        (Request::Reconfig(_), TxnResult::SetData(stat)) => (
            ErrorCode::Ok,
            Some(Response::GetData(GetDataResponse {
                data: config(),
                stat,
            })),
        ),
        (Request::Create(_), TxnResult::Created { path, .. }) => (
            ErrorCode::Ok,
            Some(Response::Create(CreateResponse { path })),
        ),
        (_, TxnResult::Created { path, stat }) => (
            ErrorCode::Ok,
            Some(Response::Create2(Create2Response { path, stat })),
        ),
        (_, TxnResult::Deleted) => (ErrorCode::Ok, None),
        (_, TxnResult::SetData(stat)) => (
            ErrorCode::Ok,
            Some(Response::SetData(SetDataResponse { stat })),
        ),
        (_, TxnResult::SetAcl(stat)) => (
            ErrorCode::Ok,
            Some(Response::SetAcl(SetAclResponse { stat })),
        ),
        (Request::Multi(ops), TxnResult::Multi(results)) => (
            ErrorCode::Ok,
            Some(Response::Multi(
                ops.iter()
                    .zip(results)
                    .map(|(op, r)| multi_result(op, r))
                    .collect(),
            )),
        ),
        (_, other) => {
            tracing::error!(?other, "unexpected write result");
            (ErrorCode::SystemError, None)
        }
    }
}
