"""The app's tabs: UI only. Every computation is a call into dfkd_core."""
