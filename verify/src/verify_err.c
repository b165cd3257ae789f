/* libcvqverify — outcome names, English and French. */
#include <cvq/verify.h>

static const struct {
	const char *code, *en, *fr;
} outcomes[CVQ_VERIFY_ERR__COUNT] = {
	[CVQ_VERIFY_OK] = {"valid", "valid",
		"Le reçu est valable : il a bien été signé par le titulaire de la carte."},
	[CVQ_VERIFY_ERR_ARG] = {"argument", "invalid argument",
		"La vérification n'a pas pu être faite (argument invalide)."},
	[CVQ_VERIFY_ERR_NOMEM] = {"no_memory", "out of memory",
		"La vérification n'a pas pu être faite (mémoire insuffisante)."},
	[CVQ_VERIFY_ERR_IO] = {"io", "a file could not be read or parsed",
		"La vérification n'a pas pu être faite : un fichier de confiance est illisible."},
	[CVQ_VERIFY_ERR_MALFORMED] = {"malformed", "not a receipt (DER CMS SignedData, one signer)",
		"Ce document n'est pas un reçu signé de la ville."},
	[CVQ_VERIFY_ERR_SIGNATURE] = {"bad_signature", "the signature does not verify over the content",
		"La signature ne correspond pas au contenu : le reçu a été modifié."},
	[CVQ_VERIFY_ERR_NOT_SIGNING_CERT] = {"not_signing_certificate",
		"the signer's certificate is not a citizen signature certificate",
		"Le reçu n'a pas été signé avec un certificat de signature de carte citoyenne."},
	[CVQ_VERIFY_ERR_UNTRUSTED] = {"untrusted", "no chain to a trust anchor",
		"Le certificat du signataire n'a pas été délivré par l'autorité de la ville."},
	[CVQ_VERIFY_ERR_EXPIRED] = {"expired", "a certificate was not valid at the trusted time",
		"Le certificat du signataire n'était pas en cours de validité au moment de la signature."},
	[CVQ_VERIFY_ERR_TIMESTAMP] = {"bad_timestamp", "the timestamp is not valid",
		"L'horodatage du reçu n'est pas valable."},
	[CVQ_VERIFY_ERR_REVOKED] = {"revoked",
		"the certificate is revoked and the signature is not proven older",
		"Le certificat du signataire a été révoqué et rien ne prouve que le reçu a été signé avant."},
	[CVQ_VERIFY_ERR_KEY_COMPROMISED] = {"key_compromised",
		"the key was reported compromised and the signature is not proven older",
		"La carte a été déclarée perdue ou volée et rien ne prouve que le reçu a été signé avant."},
	[CVQ_VERIFY_ERR_CA_REVOKED] = {"ca_revoked", "an issuing CA certificate is revoked",
		"Le certificat de l'autorité qui a délivré la carte a été révoqué."},
	[CVQ_VERIFY_ERR_REVOCATION_UNKNOWN] = {"revocation_unknown",
		"no current CRL nor OCSP answer to tell whether the certificate is revoked",
		"L'état de révocation du certificat ne peut pas être vérifié pour le moment ; réessayez plus tard."},
};

const char *cvq_verify_strerror(cvq_verify_err e)
{
	return (unsigned)e < CVQ_VERIFY_ERR__COUNT ? outcomes[e].en : "unknown outcome";
}

const char *cvq_verify_code(cvq_verify_err e)
{
	return (unsigned)e < CVQ_VERIFY_ERR__COUNT ? outcomes[e].code : "unknown";
}

const char *cvq_verify_sentence_fr(cvq_verify_err e)
{
	return (unsigned)e < CVQ_VERIFY_ERR__COUNT ? outcomes[e].fr : "Résultat inconnu.";
}

const char *cvq_verify_version(void)
{
#define S2(x) #x
#define S(x) S2(x)
	return S(CVQ_VERIFY_VERSION_MAJOR) "." S(CVQ_VERIFY_VERSION_MINOR) "." S(CVQ_VERIFY_VERSION_PATCH);
}

const char *cvq_verify_reason_name(int reason)
{
	static const char *const names[] = {
		"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
		"superseded", "cessationOfOperation", "certificateHold", "7",
		"removeFromCRL", "privilegeWithdrawn", "aACompromise",
	};
	if (reason < 0)
		return "none";
	return reason < (int)(sizeof names / sizeof names[0]) ? names[reason] : "unknown";
}
