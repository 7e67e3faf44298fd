package protocol

import (
	"strings"
)

// Kind is the body format of a scoring request, from its Content-Type.
type Kind uint8

const (
	KindJSON Kind = iota + 1
	KindCSV
)

func (k Kind) String() string {
	switch k {
	case KindJSON:
		return "json"
	case KindCSV:
		return "csv"
	}
	return "unknown"
}

// scoringProtocolChangeInfo is MLflow's note for requests in the 1.x protocol
// (SCORING_PROTOCOL_CHANGE_INFO in mlflow/pyfunc/scoring_server).
const scoringProtocolChangeInfo = "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. If you are" +
	" seeing this error, you are likely using an outdated scoring request format. To resolve the" +
	" error, either update your request format or adjust your MLflow Model's requirements file to" +
	" specify an older version of MLflow (for example, change the 'mlflow' requirement specifier" +
	" to 'mlflow==1.30.0'). If you are making a request using the MLflow client" +
	" (e.g. via `mlflow.pyfunc.spark_udf()`), upgrade your MLflow client to a version >= 2.0 in" +
	" order to use the new request format. For more information about the updated MLflow" +
	" Model scoring protocol in MLflow 2.0, see" +
	" https://mlflow.org/docs/latest/models.html#deploy-mlflow-models."

// CheckContentType reads the Content-Type of a POST /invocations request, in the order
// MLflow's scoring server checks it: a charset other than UTF-8, then any parameter other
// than charset (the 1.x protocol's format=pandas-split), then the media type. JSON is
// application/json; CSV is text/csv (MLflow's code) or application/csv (MLflow's docs).
// Media types and parameter names are matched without case, as HTTP defines them (MLflow
// matches them exactly); a quoted charset and an empty parameter (a trailing ';') are
// accepted. Errors are *Error with status 415 and MLflow's plain-text messages.
func CheckContentType(header string) (Kind, error) {
	parts := strings.Split(header, ";")
	mediaType := strings.ToLower(strings.TrimSpace(parts[0]))
	var unknown []string
	for _, p := range parts[1:] {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		name, value, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "charset") {
			unknown = append(unknown, name)
			continue
		}
		value = strings.Trim(strings.TrimSpace(value), `"`)
		if !strings.EqualFold(value, "utf-8") {
			return 0, unsupportedMediaType("The scoring server only supports UTF-8")
		}
	}
	if len(unknown) > 0 {
		return 0, unsupportedMediaType("Unrecognized content type parameters: " + strings.Join(unknown, ", ") + ". " + scoringProtocolChangeInfo)
	}
	switch mediaType {
	case "application/json":
		return KindJSON, nil
	case "text/csv", "application/csv":
		return KindCSV, nil
	}
	return 0, unsupportedMediaType("This predictor only supports the following content types:" +
		" Types: ['text/csv', 'application/csv', 'application/json']. Got '" + header + "'.")
}
