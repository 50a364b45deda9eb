// Command weberctl runs Weber's example project's database life and serves
// its app. Run `weberctl --help`.
package main

import "github.com/weber-framework/weber/weberctl"

func main() {
	weberctl.Main()
}
