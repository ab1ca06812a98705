//! How long signing one request takes: a NetSuite SuiteQL-style URL with four
//! query parameters, nonce and timestamp fixed. Run with
//! `cargo bench -p forge-netsuite`.

use forge_netsuite::tba::{Credentials, SignInput, sign};
use url::Url;

fn main() {
    divan::main();
}

#[divan::bench]
fn sign_with_four_query_parameters(bencher: divan::Bencher<'_, '_>) {
    let credentials = Credentials::new(
        "ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4".into(),
        "d26ad321a4b2f23b0741c8d38392ce01c3e23e109df6c96eac6d099e9ab9e8b5".into(),
        "2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc".into(),
        "c29a677df7d5439a458c063654187e3d678d73aca8e3c9d8bea1478a3eb0d295".into(),
    );
    let url = Url::parse(
        "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/record/v1/customer\
         ?q=email%20START_WITH%20%22a%22&limit=1000&offset=0&fields=id,externalId",
    )
    .expect("a valid URL");
    bencher.bench(|| {
        sign(divan::black_box(&SignInput {
            method: "GET",
            url: &url,
            realm: "1234567_SB1",
            credentials: &credentials,
            nonce: "fjaLirsIcCGVZWzBX0pg",
            timestamp: 1_508_242_306,
        }))
    });
}
