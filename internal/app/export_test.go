package app

// SetLambdaMaxListBytes sets the API Lambda's bound on email listings for
// the Lambdas built after it, and returns a func that restores it.
func SetLambdaMaxListBytes(n int) (restore func()) {
	old := lambdaMaxListBytes
	lambdaMaxListBytes = n
	return func() { lambdaMaxListBytes = old }
}
